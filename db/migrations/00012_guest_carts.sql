-- Guest carts: a visitor without an account fills a cart on the server.
--
-- The first add to the cart of a visitor without a session creates a guest
-- cart and a guest session that points at it (internal/accounts); at login
-- or registration its lines move into the account's cart and the guest cart
-- is deleted (internal/orders, guest.go). A guest cart is reachable only
-- through its session, which ends at the latest 7 days after it began (the
-- sessions' absolute timeout): the shop deletes the carts older than that.
--
-- client is the address the cart was created from, to bound how many new
-- carts one address can make in an hour; it goes with the cart.

-- +goose Up
CREATE TABLE guest_carts (
    id         bigserial   PRIMARY KEY,
    client     text        NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX guest_carts_client ON guest_carts (client, created_at);
CREATE INDEX guest_carts_created ON guest_carts (created_at);

CREATE TABLE guest_cart_items (
    cart_id    bigint      NOT NULL REFERENCES guest_carts (id) ON DELETE CASCADE,
    product_id bigint      NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    quantity   integer     NOT NULL CHECK (quantity BETWEEN 1 AND 99),
    added_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (cart_id, product_id)
);
CREATE INDEX guest_cart_items_product ON guest_cart_items (product_id);

-- Its row changes are recorded like those of the customers' carts (00008,
-- 00011): the header's cart badge of a guest is cached.
CREATE TRIGGER guest_cart_items_changes_insert AFTER INSERT ON guest_cart_items REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION shop_record_rows();
CREATE TRIGGER guest_cart_items_changes_update AFTER UPDATE ON guest_cart_items REFERENCING NEW TABLE AS new_rows OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION shop_record_rows();
CREATE TRIGGER guest_cart_items_changes_delete AFTER DELETE ON guest_cart_items REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION shop_record_rows();
CREATE TRIGGER guest_cart_items_changes_truncate AFTER TRUNCATE ON guest_cart_items
    FOR EACH STATEMENT EXECUTE FUNCTION shop_record_truncate();

-- +goose Down
DROP TABLE guest_cart_items;
DROP TABLE guest_carts;
