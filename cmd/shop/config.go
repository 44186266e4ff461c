package main

import (
	"fmt"
	"log/slog"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"example.com/shop/internal/cache/backend"
	"example.com/shop/internal/db"
)

// config is everything the shop reads from its environment. It is read
// once, in run, and passed down: nothing reads the environment later.
type config struct {
	Addr           string         // SHOP_ADDR: where serve listens
	DatabaseURL    string         // DATABASE_URL
	Env            string         // SHOP_ENV: development or production
	AdminToken     string         // SHOP_ADMIN_TOKEN: bearer token of the admin API; empty turns it off
	MetricsToken   string         // SHOP_METRICS_TOKEN: bearer token of /metrics for a scraper
	AdminPassword  string         // SHOP_ADMIN_PASSWORD: admin@shop.test's password when seeding
	DemoPassword   string         // SHOP_DEMO_PASSWORD: every seeded customer's password
	SecureCookies  bool           // SHOP_SECURE_COOKIES: Secure cookies behind a TLS proxy
	BcryptCost     int            // SHOP_BCRYPT_COST
	RequestTimeout time.Duration  // SHOP_REQUEST_TIMEOUT
	SharedMaxAge   time.Duration  // SHOP_SHARED_MAX_AGE: how long a CDN may keep a public page without asking
	LogLevel       slog.Level     // LOG_LEVEL: debug, info, warn, error
	LogFormat      string         // LOG_FORMAT: text or json
	Hosts          []string       // SHOP_HOSTS: the host names the shop answers to
	TrustedProxies []netip.Prefix // SHOP_TRUSTED_PROXIES: proxies whose X-Forwarded-For names the client
	Cache          backend.Config // CACHE_STORE, REDIS_URL and the rest: see internal/cache
}

// Defaults for local development. The passwords are a convenience for
// trying the shop on your own machine; set your own anywhere else.
const (
	defaultAdminPassword = "admin-password"
	defaultDemoPassword  = "demo-password"
)

func loadConfig(getenv func(string) string) (config, error) {
	c := config{
		Addr:           or(getenv("SHOP_ADDR"), ":8080"),
		DatabaseURL:    or(getenv("DATABASE_URL"), db.DefaultURL),
		Env:            or(getenv("SHOP_ENV"), "development"),
		AdminToken:     getenv("SHOP_ADMIN_TOKEN"),
		MetricsToken:   getenv("SHOP_METRICS_TOKEN"),
		AdminPassword:  or(getenv("SHOP_ADMIN_PASSWORD"), defaultAdminPassword),
		DemoPassword:   or(getenv("SHOP_DEMO_PASSWORD"), defaultDemoPassword),
		BcryptCost:     10,
		RequestTimeout: 10 * time.Second,
		LogFormat:      or(getenv("LOG_FORMAT"), "text"),
	}
	var err error
	if v := getenv("SHOP_SECURE_COOKIES"); v != "" {
		if c.SecureCookies, err = strconv.ParseBool(v); err != nil {
			return config{}, fmt.Errorf("SHOP_SECURE_COOKIES: %w", err)
		}
	}
	if v := getenv("SHOP_BCRYPT_COST"); v != "" {
		if c.BcryptCost, err = strconv.Atoi(v); err != nil || c.BcryptCost < 4 || c.BcryptCost > 31 {
			return config{}, fmt.Errorf("SHOP_BCRYPT_COST must be from 4 to 31, got %q", v)
		}
	}
	if v := getenv("SHOP_REQUEST_TIMEOUT"); v != "" {
		if c.RequestTimeout, err = time.ParseDuration(v); err != nil || c.RequestTimeout <= 0 {
			return config{}, fmt.Errorf("SHOP_REQUEST_TIMEOUT must be a duration like 10s, got %q", v)
		}
	}
	if v := getenv("SHOP_SHARED_MAX_AGE"); v != "" {
		if c.SharedMaxAge, err = time.ParseDuration(v); err != nil || c.SharedMaxAge < 0 {
			return config{}, fmt.Errorf("SHOP_SHARED_MAX_AGE must be a duration like 60s (0: shared caches always revalidate), got %q", v)
		}
	}
	if err := c.LogLevel.UnmarshalText([]byte(or(getenv("LOG_LEVEL"), "info"))); err != nil {
		return config{}, fmt.Errorf("LOG_LEVEL: %w", err)
	}
	if c.Env != "development" && c.Env != "production" {
		return config{}, fmt.Errorf("SHOP_ENV must be development or production, got %q", c.Env)
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		return config{}, fmt.Errorf("LOG_FORMAT must be text or json, got %q", c.LogFormat)
	}
	for _, h := range strings.Split(getenv("SHOP_HOSTS"), ",") {
		if h = strings.ToLower(strings.TrimSpace(h)); h != "" {
			c.Hosts = append(c.Hosts, h)
		}
	}
	for _, v := range strings.Split(getenv("SHOP_TRUSTED_PROXIES"), ",") {
		if v = strings.TrimSpace(v); v == "" {
			continue
		}
		p, err := parsePrefix(v)
		if err != nil {
			return config{}, fmt.Errorf("SHOP_TRUSTED_PROXIES: %q is neither an address nor a prefix like 10.0.0.0/8", v)
		}
		c.TrustedProxies = append(c.TrustedProxies, p)
	}
	if c.Cache, err = backend.ConfigFromEnv(getenv); err != nil {
		return config{}, err
	}
	// A load that concurrent requests share is bounded as one request is.
	c.Cache.LoadTimeout = c.RequestTimeout
	return c, nil
}

// LogValue shows the configuration with its secrets masked.
func (c config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("addr", c.Addr),
		slog.String("database", db.Redact(c.DatabaseURL)),
		slog.String("env", c.Env),
		slog.Bool("admin_token", c.AdminToken != ""),
		slog.Bool("metrics_token", c.MetricsToken != ""),
		slog.Bool("secure_cookies", c.SecureCookies),
		slog.Duration("request_timeout", c.RequestTimeout),
		slog.Duration("shared_max_age", c.SharedMaxAge),
		slog.Any("trusted_proxies", c.TrustedProxies),
		slog.Any("cache", c.Cache),
	)
}

// parsePrefix reads a prefix (10.0.0.0/8) or one address (127.0.0.1, ::1).
func parsePrefix(v string) (netip.Prefix, error) {
	if a, err := netip.ParseAddr(v); err == nil {
		a = a.Unmap()
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	p, err := netip.ParsePrefix(v)
	return p.Masked(), err
}

func or(v, fallback string) string {
	if strings.TrimSpace(v) == "" {
		return fallback
	}
	return v
}
