package web

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"example.com/shop/internal/db"
	"github.com/labstack/echo/v4"
)

// ErrorPage is the data of the error page.
type ErrorPage struct {
	Status  int
	Title   string
	Message string
}

// errorPageTimeout bounds the rendering of an error page.
const errorPageTimeout = 2 * time.Second

// errorHandler answers every error a handler returns: HTTP errors with
// their status and message, an unreachable database with 503, anything else
// with a 500 that says nothing of the cause (which goes to the log). API
// paths get JSON, everything else the error page.
func errorHandler(logger *slog.Logger) echo.HTTPErrorHandler {
	return func(err error, c echo.Context) {
		if c.Response().Committed {
			return
		}
		status, msg := http.StatusInternalServerError, "Something went wrong on our side. Please try again."
		var he *echo.HTTPError
		switch {
		case errors.As(err, &he):
			status, msg = he.Code, fmt.Sprint(he.Message)
			if he.Internal != nil {
				logger.WarnContext(c.Request().Context(), "request failed", "status", status, "err", he.Internal)
			}
		case db.IsUnavailable(err):
			status, msg = http.StatusServiceUnavailable, "The shop cannot reach its database right now. Please try again in a moment."
			logger.WarnContext(c.Request().Context(), "database unavailable", "path", c.Request().URL.Path, "err", err)
		default:
			logger.ErrorContext(c.Request().Context(), "request failed", "path", c.Request().URL.Path, "err", err)
		}
		// An error is nobody's to keep: not a browser's, not a CDN's.
		c.Response().Header().Set(echo.HeaderCacheControl, "no-store")
		if status == http.StatusServiceUnavailable && c.Response().Header().Get("Retry-After") == "" {
			c.Response().Header().Set("Retry-After", "5")
		}
		// The request's deadline ended with its handler (deadline cancels
		// it on the way out), but the error page still reads what every
		// page shows, such as a customer's cart badge: it gets a short
		// deadline of its own.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(c.Request().Context()), errorPageTimeout)
		defer cancel()
		c.SetRequest(c.Request().WithContext(ctx))
		var werr error
		switch {
		case strings.HasPrefix(c.Request().URL.Path, "/api/"):
			werr = c.JSON(status, map[string]string{"error": msg})
		default:
			werr = c.Render(status, "error", ErrorPage{Status: status, Title: http.StatusText(status), Message: msg})
		}
		if werr != nil {
			logger.ErrorContext(c.Request().Context(), "write error response", "err", werr)
			_ = c.String(status, msg)
		}
	}
}
