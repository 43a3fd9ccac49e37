package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"

	"canistry/pkg/registry"
)

// Sign returns the webhook-signature header of one message: "v1," and the base64 of
// HMAC-SHA256 over "<id>.<timestamp>.<body>", keyed with the base64-decoded part of secret
// after "whsec_".
func Sign(secret, id string, timestamp int64, body []byte) (string, error) {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, registry.WebhookSecretPrefix))
	if err != nil || len(key) == 0 {
		return "", errors.New("webhook secret is not whsec_ followed by base64")
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id))
	mac.Write([]byte{'.'})
	mac.Write([]byte(strconv.FormatInt(timestamp, 10)))
	mac.Write([]byte{'.'})
	mac.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil)), nil
}
