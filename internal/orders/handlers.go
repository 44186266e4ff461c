package orders

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"example.com/shop/internal/db"
	"example.com/shop/internal/params"
	"example.com/shop/internal/viewer"
	"github.com/labstack/echo/v4"
)

// Page names this package renders.
const (
	pageCart        = "cart"
	pageOrders      = "orders"
	pageOrder       = "order"
	pageAdminOrders = "admin_orders"
)

// CartPage is the data of the cart page.
type CartPage struct {
	Cart     Cart
	Problems []string // why the last checkout was refused
	// Dropped is how many lines of the cart filled as a guest were left
	// out at login (products no longer for sale).
	Dropped int
	// Guest is set for a visitor without an account: checkout asks them
	// to log in or register first.
	Guest bool
}

// OrdersPage is the data of the viewer's order list.
type OrdersPage struct {
	Orders []Order
	Pager  params.Pager
}

// OrderPage is the data of one order.
type OrderPage struct {
	Order Order
}

// AdminOrdersPage is the data of the admin's order list.
type AdminOrdersPage struct {
	Orders   []Order
	Pager    params.Pager
	Statuses []db.OrderStatus
}

func userID(c echo.Context) int64 { return viewer.From(c.Request().Context()).UserID }

// StartGuest starts the session of a visitor whose first add to a cart
// created guest cart cartID, and sets its cookie (accounts.Service).
type StartGuest func(c echo.Context, cartID int64) error

// cartOf returns the viewer's cart: a customer's, a guest's, or an empty
// one for a visitor who has none.
func cartOf(c echo.Context, s *Service) (Cart, error) {
	ctx := c.Request().Context()
	switch v := viewer.From(ctx); {
	case v.LoggedIn():
		return s.Cart(ctx, v.UserID)
	case v.Guest():
		return s.GuestCart(ctx, v.GuestCart)
	}
	return Cart{}, nil
}

// HandleCart shows the viewer's cart, a guest's included.
func HandleCart(s *Service) echo.HandlerFunc {
	return func(c echo.Context) error {
		cart, err := cartOf(c, s)
		if err != nil {
			return err
		}
		dropped, _ := strconv.Atoi(c.QueryParam("dropped"))
		page := CartPage{Cart: cart, Dropped: min(max(dropped, 0), MaxQuantity), Guest: !viewer.From(c.Request().Context()).LoggedIn()}
		return c.Render(http.StatusOK, pageCart, page)
	}
}

// HandleAddToCart adds a product to the viewer's cart (form fields
// product_id and quantity, 1 by default) and shows the cart. A visitor
// without a session gets a guest cart, and a guest session with its
// cookie (startGuest), on this response only.
func HandleAddToCart(s *Service, startGuest StartGuest) echo.HandlerFunc {
	return func(c echo.Context) error {
		id, err := params.ID(c.FormValue("product_id"))
		if err != nil {
			return echo.NewHTTPError(http.StatusNotFound, "There is no such product.")
		}
		quantity := 1
		if q := strings.TrimSpace(c.FormValue("quantity")); q != "" {
			if quantity, err = strconv.Atoi(q); err != nil || quantity < 1 || quantity > MaxQuantity {
				return echo.NewHTTPError(http.StatusBadRequest, ErrBadQuantity.Error())
			}
		}
		ctx := c.Request().Context()
		switch v := viewer.From(ctx); {
		case v.LoggedIn():
			err = s.AddToCart(ctx, v.UserID, id, quantity)
		case v.Guest():
			err = s.AddToGuestCart(ctx, v.GuestCart, id, quantity)
			if errors.Is(err, ErrNotFound) {
				// The product is gone, or the guest's cart is (merged by a
				// login whose session could not start, or expired): a new
				// cart, with a session of its own, tells which.
				err = addForNewGuest(c, s, startGuest, id, quantity)
			}
		default:
			err = addForNewGuest(c, s, startGuest, id, quantity)
		}
		switch {
		case errors.Is(err, ErrBadQuantity):
			return echo.NewHTTPError(http.StatusBadRequest, err.Error())
		case errors.Is(err, ErrNotFound):
			return echo.NewHTTPError(http.StatusNotFound, "There is no such product.")
		case errors.Is(err, ErrTooManyCarts):
			c.Response().Header().Set("Retry-After", "3600")
			return echo.NewHTTPError(http.StatusTooManyRequests, err.Error())
		case err != nil:
			return err
		}
		return c.Redirect(http.StatusSeeOther, "/cart")
	}
}

// addForNewGuest creates a guest cart with the product in it and starts
// the guest's session.
func addForNewGuest(c echo.Context, s *Service, startGuest StartGuest, productID int64, quantity int) error {
	ctx := c.Request().Context()
	cartID, err := s.NewGuestCart(ctx, c.RealIP())
	if err != nil {
		return err
	}
	if err := s.AddToGuestCart(ctx, cartID, productID, quantity); err != nil {
		return err
	}
	return startGuest(c, cartID)
}

// HandleRemoveFromCart removes a line from the viewer's cart.
func HandleRemoveFromCart(s *Service) echo.HandlerFunc {
	return func(c echo.Context) error {
		id, err := params.ID(c.Param("product_id"))
		if err != nil {
			return echo.NewHTTPError(http.StatusNotFound, "That product is not in your cart.")
		}
		ctx := c.Request().Context()
		err = ErrNotFound
		switch v := viewer.From(ctx); {
		case v.LoggedIn():
			err = s.RemoveFromCart(ctx, v.UserID, id)
		case v.Guest():
			err = s.RemoveFromGuestCart(ctx, v.GuestCart, id)
		}
		if errors.Is(err, ErrNotFound) {
			return echo.NewHTTPError(http.StatusNotFound, "That product is not in your cart.")
		}
		if err != nil {
			return err
		}
		return c.Redirect(http.StatusSeeOther, "/cart")
	}
}

// HandleCheckout turns the viewer's cart into an order and shows it. When
// the cart cannot be bought as it is, the cart comes back saying why. A
// guest is asked to log in or register first, and comes back to the cart,
// which the login has moved into the account.
func HandleCheckout(s *Service) echo.HandlerFunc {
	return func(c echo.Context) error {
		ctx := c.Request().Context()
		if !viewer.From(ctx).LoggedIn() {
			return c.Redirect(http.StatusSeeOther, "/login?next=/cart")
		}
		order, err := s.Checkout(ctx, userID(c))
		var problems CheckoutProblems
		switch {
		case errors.Is(err, ErrEmptyCart):
			return c.Render(http.StatusUnprocessableEntity, pageCart, CartPage{Problems: []string{"Your cart is empty."}})
		case errors.As(err, &problems):
			cart, cerr := s.Cart(ctx, userID(c))
			if cerr != nil {
				return cerr
			}
			return c.Render(http.StatusConflict, pageCart, CartPage{Cart: cart, Problems: problems})
		case err != nil:
			return err
		}
		return c.Redirect(http.StatusSeeOther, fmt.Sprintf("/orders/%d", order.ID))
	}
}

// HandleOrders lists the viewer's orders.
func HandleOrders(s *Service) echo.HandlerFunc {
	return func(c echo.Context) error {
		page, err := params.Page(c.QueryParam("page"))
		if err != nil {
			return echo.NewHTTPError(http.StatusBadRequest, err.Error())
		}
		orders, hasNext, err := s.UserOrders(c.Request().Context(), userID(c), page, PageSize)
		if err != nil {
			return err
		}
		if len(orders) == 0 && page > 1 {
			return echo.NewHTTPError(http.StatusNotFound, "There is no such page.")
		}
		return c.Render(http.StatusOK, pageOrders, OrdersPage{Orders: orders, Pager: params.Links(c.Request().URL.Path, nil, "page", page, hasNext)})
	}
}

// HandleOrder shows one of the viewer's orders; anybody else's is a 404.
func HandleOrder(s *Service) echo.HandlerFunc {
	return func(c echo.Context) error {
		id, err := params.ID(c.Param("id"))
		if err != nil {
			return echo.NewHTTPError(http.StatusNotFound, "There is no such order.")
		}
		o, err := s.UserOrder(c.Request().Context(), userID(c), id)
		if errors.Is(err, ErrNotFound) {
			return echo.NewHTTPError(http.StatusNotFound, "There is no such order.")
		}
		if err != nil {
			return err
		}
		return c.Render(http.StatusOK, pageOrder, OrderPage{Order: o})
	}
}

// HandleAdminOrders lists every order for admins, with status forms.
func HandleAdminOrders(s *Service) echo.HandlerFunc {
	return func(c echo.Context) error {
		page, err := params.Page(c.QueryParam("page"))
		if err != nil {
			return echo.NewHTTPError(http.StatusBadRequest, err.Error())
		}
		orders, hasNext, err := s.AdminOrders(c.Request().Context(), page)
		if err != nil {
			return err
		}
		return c.Render(http.StatusOK, pageAdminOrders, AdminOrdersPage{
			Orders: orders, Pager: params.Links(c.Request().URL.Path, nil, "page", page, hasNext),
			Statuses: []db.OrderStatus{db.OrderStatusPending, db.OrderStatusCompleted, db.OrderStatusCancelled},
		})
	}
}

// setStatus reads the order id and applies the status, mapping the
// service's errors to HTTP ones.
func setStatus(c echo.Context, s *Service, status string) (StatusChange, error) {
	id, err := params.ID(c.Param("id"))
	if err != nil {
		return StatusChange{}, echo.NewHTTPError(http.StatusNotFound, "There is no such order.")
	}
	to, ok := ParseStatus(status)
	if !ok {
		return StatusChange{}, echo.NewHTTPError(http.StatusUnprocessableEntity, "status must be pending, completed or cancelled")
	}
	change, err := s.SetStatus(c.Request().Context(), id, to)
	switch {
	case errors.Is(err, ErrNotFound):
		return StatusChange{}, echo.NewHTTPError(http.StatusNotFound, "There is no such order.")
	case errors.Is(err, ErrBadTransition):
		return StatusChange{}, echo.NewHTTPError(http.StatusConflict, err.Error())
	}
	return change, err
}

// HandleAdminSetStatus changes an order's status from the admin list.
func HandleAdminSetStatus(s *Service) echo.HandlerFunc {
	return func(c echo.Context) error {
		if _, err := setStatus(c, s, c.FormValue("status")); err != nil {
			return err
		}
		return c.Redirect(http.StatusSeeOther, "/admin/orders")
	}
}

// HandleAPISetStatus answers POST /api/admin/orders/:id/status with a body
// like {"status": "completed"}.
func HandleAPISetStatus(s *Service) echo.HandlerFunc {
	return func(c echo.Context) error {
		var body struct {
			Status string `json:"status"`
		}
		if err := params.DecodeJSON(c, &body); err != nil {
			return err
		}
		change, err := setStatus(c, s, body.Status)
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, change.Order)
	}
}
