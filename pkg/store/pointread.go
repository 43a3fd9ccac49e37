package store

// The one-row reads behind the api's point reads GET /tokens/{id}, /miners/{id} and
// /canisters/{id} (GetToken, GetMiner, GetCanisterBadges), with ? placeholders.
const (
	getTokenSQL          = "SELECT " + tokenColumns + tokenFrom + " WHERE t.canister_id = ?"
	getMinerSQL          = "SELECT " + minerColumns + minerFrom + " WHERE m.canister_id = ?"
	getCanisterBadgesSQL = "SELECT " + canisterColumns + ", " + badgeColumns + canisterFrom +
		" LEFT JOIN canister_badges b ON b.canister_id = c.canister_id WHERE c.canister_id = ?"
)

// PointReadSQL returns the SQL text (? placeholders, one argument: the canister id) of the
// store's read behind a point read, by route: "token", "miner" or "canister". The api's
// loopback benchmark runs the same text through a bare handler, to measure the least any
// handler over the engine can do (issue 26's engine ceiling).
func PointReadSQL(route string) string {
	switch route {
	case "token":
		return getTokenSQL
	case "miner":
		return getMinerSQL
	case "canister":
		return getCanisterBadgesSQL
	}
	return ""
}
