package stats

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
)

const pageAdminStats = "admin_stats"

// AdminStatsPage is the data of /admin/stats.
type AdminStatsPage struct {
	Date      string // as shown in the date field
	Day       Day
	Email     string
	Lifetime  *LifetimeValue // nil when no user was asked for
	UserError string
}

// HandleAdminStats shows a day's figures (?date=YYYY-MM-DD, today by
// default) and, when ?email= is given, that customer's lifetime value.
func HandleAdminStats(s *Service) echo.HandlerFunc {
	return func(c echo.Context) error {
		ctx := c.Request().Context()
		date := s.now().UTC()
		if d := c.QueryParam("date"); d != "" {
			var err error
			if date, err = time.Parse(time.DateOnly, d); err != nil {
				return echo.NewHTTPError(http.StatusBadRequest, "date must look like 2026-01-31")
			}
		}
		day, err := s.Daily(ctx, date)
		if err != nil {
			return err
		}
		page := AdminStatsPage{Date: day.Date.Format(time.DateOnly), Day: day, Email: strings.TrimSpace(c.QueryParam("email"))}
		if page.Email != "" {
			ltv, err := s.LifetimeValueByEmail(ctx, strings.ToLower(page.Email))
			switch {
			case errors.Is(err, ErrNotFound):
				page.UserError = "There is no user with that e-mail address."
			case err != nil:
				return err
			default:
				page.Lifetime = &ltv
			}
		}
		return c.Render(http.StatusOK, pageAdminStats, page)
	}
}
