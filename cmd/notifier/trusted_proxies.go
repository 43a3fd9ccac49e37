package main

import (
	"canistry/pkg/config"
	"canistry/pkg/lifecycle"
	"canistry/pkg/ws"
)

// The notifier's WebSocket origin check believes X-Forwarded-Host only from TRUSTED_PROXIES.
func init() {
	lifecycle.OnConfig(func(c config.Config) { ws.TrustProxies(c.TrustedProxies) })
}
