package catalog

import (
	"errors"
	"net/http"

	"example.com/shop/internal/params"
	"github.com/labstack/echo/v4"
)

// APIProductList is the JSON of a page of products.
type APIProductList struct {
	Category *Category `json:"category,omitempty"`
	Products []Product `json:"products"`
	Page     int       `json:"page"`
	NextPage *int      `json:"next_page"` // null on the last page
}

// HandleAPIList answers GET /api/products with the same filters as the
// list pages.
func HandleAPIList(s *Service) echo.HandlerFunc {
	return func(c echo.Context) error {
		q, _, list, err := listFromRequest(c, s, "")
		if err != nil {
			return err
		}
		out := APIProductList{Category: list.Category, Products: list.Products, Page: q.Page}
		if list.HasNext {
			next := q.Page + 1
			out.NextPage = &next
		}
		return c.JSON(http.StatusOK, out)
	}
}

// HandleAPIProduct answers GET /api/products/:id.
func HandleAPIProduct(s *Service) echo.HandlerFunc {
	return func(c echo.Context) error {
		id, err := params.ID(c.Param("id"))
		if err != nil {
			return echo.NewHTTPError(http.StatusNotFound, "There is no such product.")
		}
		p, err := s.Product(c.Request().Context(), id)
		if errors.Is(err, ErrNotFound) {
			return echo.NewHTTPError(http.StatusNotFound, "There is no such product.")
		}
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, p)
	}
}

// HandleAPICategories answers GET /api/categories: the active categories
// with their numbers of active products.
func HandleAPICategories(s *Service) echo.HandlerFunc {
	return func(c echo.Context) error {
		cats, err := s.Navigation(c.Request().Context())
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, map[string][]Category{"categories": cats})
	}
}

// HandleAPICreateProduct answers POST /api/admin/products.
func HandleAPICreateProduct(s *Service) echo.HandlerFunc {
	return func(c echo.Context) error {
		var in ProductInput
		if err := params.DecodeJSON(c, &in); err != nil {
			return err
		}
		p, err := s.CreateProduct(c.Request().Context(), in)
		if err != nil {
			return apiError(err)
		}
		return c.JSON(http.StatusCreated, p)
	}
}

// HandleAPIUpdateProduct answers PATCH /api/admin/products/:id: the fields
// present in the body change, the others stay.
func HandleAPIUpdateProduct(s *Service) echo.HandlerFunc {
	return func(c echo.Context) error {
		id, err := params.ID(c.Param("id"))
		if err != nil {
			return echo.NewHTTPError(http.StatusNotFound, "There is no such product.")
		}
		var patch ProductPatch
		if err := params.DecodeJSON(c, &patch); err != nil {
			return err
		}
		change, err := s.UpdateProduct(c.Request().Context(), id, patch)
		if err != nil {
			return apiError(err)
		}
		return c.JSON(http.StatusOK, change.After)
	}
}

// HandleAPIDeleteProduct answers DELETE /api/admin/products/:id.
func HandleAPIDeleteProduct(s *Service) echo.HandlerFunc {
	return func(c echo.Context) error {
		id, err := params.ID(c.Param("id"))
		if err != nil {
			return echo.NewHTTPError(http.StatusNotFound, "There is no such product.")
		}
		if _, err := s.DeleteProduct(c.Request().Context(), id); err != nil {
			return apiError(err)
		}
		return c.NoContent(http.StatusNoContent)
	}
}

// apiError turns the service's errors into HTTP errors.
func apiError(err error) error {
	var p Problems
	switch {
	case errors.As(err, &p):
		return echo.NewHTTPError(http.StatusUnprocessableEntity, p.Error())
	case errors.Is(err, ErrNotFound):
		return echo.NewHTTPError(http.StatusNotFound, "There is no such product.")
	case errors.Is(err, ErrConflict):
		return echo.NewHTTPError(http.StatusConflict, err.Error())
	}
	return err
}
