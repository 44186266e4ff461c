package catalog

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"example.com/shop/internal/db"
	"example.com/shop/internal/params"
)

// Reviews returns a page of a product's reviews, newest first.
func (s *Service) Reviews(ctx context.Context, productID int64, page int) ([]Review, error) {
	rows, err := s.store.ListProductReviews(ctx, db.ListProductReviewsParams{
		ProductID: productID, Lim: ReviewsPageSize, Off: params.Offset(page, ReviewsPageSize),
	})
	if err != nil {
		return nil, fmt.Errorf("list reviews of %d: %w", productID, err)
	}
	out := make([]Review, len(rows))
	for i, r := range rows {
		out[i] = Review{ID: r.ID, Rating: int(r.Rating), Comment: r.Comment, Author: r.AuthorName, CreatedAt: r.CreatedAt}
	}
	return out, nil
}

// ReviewInput is a review as a customer writes it.
type ReviewInput struct {
	Rating  int
	Comment string
}

// MaxCommentLen is the longest review comment, in characters.
const MaxCommentLen = 5000

// Problems returns what is wrong with r, by field.
func (r ReviewInput) Problems() Problems {
	p := Problems{}
	if r.Rating < 1 || r.Rating > 5 {
		p["rating"] = "Pick a rating from 1 to 5."
	}
	c := strings.TrimSpace(r.Comment)
	if c == "" || utf8.RuneCountInString(c) > MaxCommentLen || !utf8.ValidString(c) {
		p["comment"] = fmt.Sprintf("Write a comment of 1 to %d characters.", MaxCommentLen)
	}
	return p
}

// AddReview records userID's review of a product and updates the product's
// rating. A user reviews a product once: the second time is
// ErrAlreadyReviewed. A missing or inactive product is ErrNotFound.
func (s *Service) AddReview(ctx context.Context, userID, productID int64, in ReviewInput) error {
	if len(in.Problems()) > 0 {
		return fmt.Errorf("add review: invalid review")
	}
	_, err := s.store.CreateReview(ctx, db.CreateReviewParams{
		UserID: userID, ProductID: productID, Rating: int16(in.Rating), Comment: strings.TrimSpace(in.Comment),
	})
	if db.IsNotFound(err) {
		// The statement wrote nothing: either the product is gone or the
		// review exists. Tell which.
		reviewed, err := s.store.HasReviewed(ctx, db.HasReviewedParams{UserID: userID, ProductID: productID})
		if err != nil {
			return fmt.Errorf("check review of %d: %w", productID, err)
		}
		if reviewed {
			return ErrAlreadyReviewed
		}
		return ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("add review of %d: %w", productID, err)
	}
	s.changed(ctx)
	return nil
}

// HasReviewed reports whether userID has reviewed the product.
func (s *Service) HasReviewed(ctx context.Context, userID, productID int64) (bool, error) {
	ids, err := s.store.ListReviewedProductIDs(ctx, userID)
	if err != nil {
		return false, fmt.Errorf("read reviews of user: %w", err)
	}
	return slices.Contains(ids, productID), nil
}
