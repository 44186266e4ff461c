-- Product search. Search in internal/db/search.go runs SearchProducts and,
-- when it finds nothing, SearchProductsSimilar. Both return ids only: the
-- rows come from ListProductsByIDs, so that a cached result never holds a
-- product's price or stock.

-- name: SearchProducts :many
-- Full-text matches of the words (websearch syntax: "quoted phrases",
-- -excluded, or) and of prefix as the beginning of a word (the word being
-- typed), best first: by rank, then popularity, unless sort says otherwise.
-- prefix holds letters and digits only (the shop's query parser sees to
-- it), so it is a well-formed lexeme for to_tsquery. The query is
-- MATERIALIZED, so that it is parsed once: inlined, a generic plan (the
-- one a prepared statement settles on) parses it again for the rank of
-- every match (a search of 2,000 matches at scale 100 took 38 ms, 8 now).
WITH q AS MATERIALIZED (
    SELECT websearch_to_tsquery('english', @words::text) && (
        CASE WHEN @prefix::text = '' THEN ''::tsquery
        ELSE to_tsquery('english', @prefix::text || ':*') || to_tsquery('simple', @prefix::text || ':*')
        END) AS query
)
SELECT p.id
FROM q, product_search s
JOIN products p ON p.id = s.product_id
WHERE s.document @@ q.query AND p.active
  AND (@category_id::bigint = 0 OR p.category_id = @category_id::bigint)
ORDER BY
  CASE WHEN @sort::text = 'price' THEN p.price END ASC,
  CASE WHEN @sort::text = 'price_desc' THEN p.price END DESC,
  CASE WHEN @sort::text = 'newest' THEN p.created_at END DESC,
  CASE WHEN @sort::text = 'popular' THEN p.sold_count END DESC,
  ts_rank(s.document, q.query) DESC, p.sold_count DESC, p.id DESC
LIMIT @lim OFFSET @off;

-- name: SearchProductsSimilar :many
-- The fallback for misspellings: products whose name holds a word like
-- text (pg_trgm's word similarity, at its default threshold of 0.6), most
-- similar first.
SELECT p.id
FROM product_search s
JOIN products p ON p.id = s.product_id
WHERE @text::text <% s.name AND p.active
  AND (@category_id::bigint = 0 OR p.category_id = @category_id::bigint)
ORDER BY
  CASE WHEN @sort::text = 'price' THEN p.price END ASC,
  CASE WHEN @sort::text = 'price_desc' THEN p.price END DESC,
  CASE WHEN @sort::text = 'newest' THEN p.created_at END DESC,
  CASE WHEN @sort::text = 'popular' THEN p.sold_count END DESC,
  word_similarity(@text::text, s.name) DESC, p.sold_count DESC, p.id DESC
LIMIT @lim OFFSET @off;
