package ws

// WaitFor is waitFor for the external tests (package ws_test).
var WaitFor = waitFor

// Patience is patience for the external tests.
const Patience = patience
