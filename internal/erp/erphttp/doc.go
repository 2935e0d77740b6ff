// Package erphttp is the shared HTTP layer of the ERP connectors (SAP OData,
// Oracle REST, Workday, Dynamics 365, NetSuite).
//
// One [Client] is made per ERP connection with [New]. Its [Client.Do] sends a
// request with, in order:
//
//   - a per-connection token-bucket rate limit (golang.org/x/time/rate), the
//     wait honouring the request's context;
//   - a per-connection circuit breaker (github.com/sony/gobreaker/v2): after
//     Config.BreakerFailures consecutive failed attempts (5xx, 429, transport
//     errors and timeouts; never other 4xx) it opens for Config.BreakerOpenFor,
//     during which requests are refused at once with an error matching
//     [ErrCircuitOpen]; then one probe is let through, whose success closes it;
//   - a per-attempt timeout;
//   - retries with exponential backoff and full jitter: 429 and 503 always
//     (waiting what the server's Retry-After says, capped at
//     Config.MaxRetryAfter), 500/502/504, transport errors and timeouts only
//     for idempotent requests (GET, HEAD, PUT, DELETE, OPTIONS, TRACE, a
//     request with an Idempotency-Key header, or one marked with
//     [Idempotent]). Request bodies are replayed with http.Request.GetBody.
//
// When the retries give up, the error is an [*Error] naming the connection,
// the method, the URL with credentials redacted, the attempts made and the
// last status or error. Logs never carry headers, tokens or passwords.
//
// For OAuth 2.0 client credentials (SAP BTP, Microsoft Entra ID for Dynamics
// 365), [ClientCredentials] gives a cached [TokenSource] that refreshes the
// token a configurable time before it expires, and [Transport] adds the
// bearer token to each request and, on a 401, refreshes the token once and
// retries once. Put the Transport under the Client:
//
//	ts := erphttp.ClientCredentials(ctx, tokenURL, id, secret, scopes, nil, time.Minute)
//	c := erphttp.New("sap-prod", &erphttp.Transport{Source: ts}, erphttp.Config{Logger: log})
//	resp, err := c.Do(req)
package erphttp
