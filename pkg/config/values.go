package config

// The parsers of plain values: booleans, numbers, durations, lists, keys and the log level.

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aviate-labs/agent-go/principal"
	"github.com/robfig/cron/v3"
)

func nonEmpty(v string) error {
	if v == "" {
		return errors.New("must not be empty")
	}
	return nil
}

func boolVar(field func(*Config) *bool) func(*Config, string) error {
	return func(c *Config, v string) error {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return errors.New("must be true or false")
		}
		*field(c) = b
		return nil
	}
}

func intRange(lo, hi int, field func(*Config) *int) func(*Config, string) error {
	return func(c *Config, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < lo || n > hi {
			return fmt.Errorf("must be a whole number from %d to %d", lo, hi)
		}
		*field(c) = n
		return nil
	}
}

func floatRange(lo, hi float64, field func(*Config) *float64) func(*Config, string) error {
	return func(c *Config, v string) error {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f < lo || f > hi || f != f {
			return fmt.Errorf("must be a number from %g to %g", lo, hi)
		}
		*field(c) = f
		return nil
	}
}

// ParseDuration accepts Go durations and a whole number of days written "30d".
func ParseDuration(v string) (time.Duration, error) {
	if d, ok := strings.CutSuffix(v, "d"); ok {
		n, err := strconv.Atoi(d)
		if err != nil || n < 0 {
			return 0, errors.New("days must be a whole number, e.g. 30d")
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	return time.ParseDuration(v)
}

func durRange(lo, hi time.Duration, field func(*Config) *time.Duration) func(*Config, string) error {
	return func(c *Config, v string) error {
		d, err := ParseDuration(v)
		if err != nil {
			return errors.New("must be a duration such as 30s, 5m, 720h or 30d")
		}
		if d < lo || d > hi {
			return fmt.Errorf("must be between %s and %s", lo, hi)
		}
		*field(c) = d
		return nil
	}
}

func schedule(c *Config, v string) error {
	c.RefreshSchedule = v
	if _, err := cron.ParseStandard(v); err != nil {
		return fmt.Errorf("not a cron schedule (e.g. \"@every 1m\" or \"*/5 * * * *\"): %w", err)
	}
	return nil
}

func discoverSchedule(c *Config, v string) error {
	if v == "off" {
		c.DiscoverSchedule = ""
		return nil
	}
	c.DiscoverSchedule = v
	if _, err := cron.ParseStandard(v); err != nil {
		return fmt.Errorf("not a cron schedule (e.g. \"@daily\") nor off: %w", err)
	}
	return nil
}

func principalVar(field func(*Config) *string) func(*Config, string) error {
	return func(c *Config, v string) error {
		p, err := principal.Decode(v)
		if err != nil || p.Encode() != v {
			return errors.New("must be a principal in its canonical text form")
		}
		*field(c) = v
		return nil
	}
}

func splitList(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// MinKeyLen is the shortest API key accepted.
const MinKeyLen = 16

func keyList(c *Config, v string) error {
	c.NotifyAPIKeys = splitList(v)
	for i, k := range c.NotifyAPIKeys {
		if len(k) < MinKeyLen {
			return fmt.Errorf("key %d is %d characters; each key needs at least %d", i+1, len(k), MinKeyLen)
		}
	}
	return nil
}

func adminKey(c *Config, v string) error {
	c.AdminAPIKey = v
	if v != "" && len(v) < MinKeyLen {
		return fmt.Errorf("must be at least %d characters", MinKeyLen)
	}
	return nil
}

func logLevel(c *Config, v string) error {
	if err := c.LogLevel.UnmarshalText([]byte(v)); err != nil {
		return errors.New("must be debug, info, warn or error")
	}
	return nil
}
