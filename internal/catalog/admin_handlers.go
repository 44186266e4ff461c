package catalog

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"example.com/shop/internal/money"
	"example.com/shop/internal/params"
	"github.com/labstack/echo/v4"
)

// Page names of the admin product pages.
const (
	pageAdminProducts = "admin_products"
	pageAdminProduct  = "admin_product_form"
)

// AdminProductsPage is the data of the admin's product list.
type AdminProductsPage struct {
	Products []Product
	Pager    params.Pager
}

// AdminProductForm is the data of the product create and edit form.
type AdminProductForm struct {
	ID         int64 // 0 when creating
	Input      ProductInput
	PriceText  string // as typed, so a bad price is shown back as it was
	Categories []Category
	Problems   Problems
}

// Action returns the URL the form posts to.
func (f AdminProductForm) Action() string {
	if f.ID == 0 {
		return "/admin/products"
	}
	return fmt.Sprintf("/admin/products/%d", f.ID)
}

// HandleAdminProducts lists every product for admins.
func HandleAdminProducts(s *Service) echo.HandlerFunc {
	return func(c echo.Context) error {
		page, err := params.Page(c.QueryParam("page"))
		if err != nil {
			return echo.NewHTTPError(http.StatusBadRequest, err.Error())
		}
		ps, hasNext, err := s.AdminProducts(c.Request().Context(), page)
		if err != nil {
			return err
		}
		return c.Render(http.StatusOK, pageAdminProducts, AdminProductsPage{
			Products: ps, Pager: params.Links(c.Request().URL.Path, nil, "page", page, hasNext),
		})
	}
}

// HandleAdminNewProduct shows an empty product form.
func HandleAdminNewProduct(s *Service) echo.HandlerFunc {
	return func(c echo.Context) error {
		cats, err := s.Categories(c.Request().Context())
		if err != nil {
			return err
		}
		return c.Render(http.StatusOK, pageAdminProduct, AdminProductForm{Input: ProductInput{Active: true}, Categories: cats})
	}
}

// HandleAdminEditProduct shows the form of an existing product.
func HandleAdminEditProduct(s *Service) echo.HandlerFunc {
	return func(c echo.Context) error {
		ctx := c.Request().Context()
		id, err := params.ID(c.Param("id"))
		if err != nil {
			return echo.NewHTTPError(http.StatusNotFound, "There is no such product.")
		}
		p, err := s.AdminProduct(ctx, id)
		if errors.Is(err, ErrNotFound) {
			return echo.NewHTTPError(http.StatusNotFound, "There is no such product.")
		}
		if err != nil {
			return err
		}
		cats, err := s.Categories(ctx)
		if err != nil {
			return err
		}
		in := ProductInput{
			CategoryID: p.CategoryID, Slug: p.Slug, Name: p.Name, Description: p.Description,
			Price: p.Price, Stock: p.Stock, Active: p.Active, Featured: p.Featured,
		}
		return c.Render(http.StatusOK, pageAdminProduct, AdminProductForm{ID: id, Input: in, PriceText: p.Price.String(), Categories: cats})
	}
}

// productForm reads the product form. Fields that do not parse are
// reported as problems next to the input's own.
func productForm(c echo.Context) (ProductInput, string, Problems) {
	p := Problems{}
	in := ProductInput{
		Slug: strings.TrimSpace(c.FormValue("slug")), Name: c.FormValue("name"), Description: c.FormValue("description"),
		Active: c.FormValue("active") == "on", Featured: c.FormValue("featured") == "on",
	}
	priceText := strings.TrimSpace(c.FormValue("price"))
	price, err := money.Parse(priceText)
	if err != nil {
		p["price"] = "Give a price like 12.50."
	}
	in.Price = price
	if in.Stock, err = strconv.Atoi(strings.TrimSpace(c.FormValue("stock"))); err != nil {
		p["stock"] = "Give the stock as a whole number."
	}
	in.CategoryID, _ = strconv.ParseInt(c.FormValue("category_id"), 10, 64)
	for k, v := range in.Problems() {
		if _, seen := p[k]; !seen {
			p[k] = v
		}
	}
	return in, priceText, p
}

// HandleAdminCreateProduct creates a product from the form.
func HandleAdminCreateProduct(s *Service) echo.HandlerFunc {
	return func(c echo.Context) error {
		in, priceText, problems := productForm(c)
		form := AdminProductForm{Input: in, PriceText: priceText}
		if len(problems) > 0 {
			return s.renderFormProblems(c, form, problems)
		}
		p, err := s.CreateProduct(c.Request().Context(), in)
		if err != nil {
			return s.renderFormProblems(c, form, err)
		}
		return c.Redirect(http.StatusSeeOther, fmt.Sprintf("/admin/products/%d/edit", p.ID))
	}
}

// HandleAdminUpdateProduct saves the form of an existing product.
func HandleAdminUpdateProduct(s *Service) echo.HandlerFunc {
	return func(c echo.Context) error {
		id, err := params.ID(c.Param("id"))
		if err != nil {
			return echo.NewHTTPError(http.StatusNotFound, "There is no such product.")
		}
		in, priceText, problems := productForm(c)
		form := AdminProductForm{ID: id, Input: in, PriceText: priceText}
		if len(problems) > 0 {
			return s.renderFormProblems(c, form, problems)
		}
		_, err = s.UpdateProduct(c.Request().Context(), id, ProductPatch{
			CategoryID: &in.CategoryID, Slug: &in.Slug, Name: &in.Name, Description: &in.Description,
			Price: &in.Price, Stock: &in.Stock, Active: &in.Active, Featured: &in.Featured,
		})
		if err != nil {
			return s.renderFormProblems(c, form, err)
		}
		return c.Redirect(http.StatusSeeOther, "/admin")
	}
}

// renderFormProblems shows the form again with what was wrong, or returns
// err when it is not about the input.
func (s *Service) renderFormProblems(c echo.Context, form AdminProductForm, err error) error {
	if !errors.As(err, &form.Problems) || len(form.Problems) == 0 {
		return apiError(err)
	}
	cats, cerr := s.Categories(c.Request().Context())
	if cerr != nil {
		return cerr
	}
	form.Categories = cats
	return c.Render(http.StatusUnprocessableEntity, pageAdminProduct, form)
}

// HandleAdminDeleteProduct deletes a product.
func HandleAdminDeleteProduct(s *Service) echo.HandlerFunc {
	return func(c echo.Context) error {
		id, err := params.ID(c.Param("id"))
		if err != nil {
			return echo.NewHTTPError(http.StatusNotFound, "There is no such product.")
		}
		if _, err := s.DeleteProduct(c.Request().Context(), id); err != nil {
			return apiError(err)
		}
		return c.Redirect(http.StatusSeeOther, "/admin")
	}
}
