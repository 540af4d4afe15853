// Package pectest provides a public-key infrastructure for tests of PEC
// software, as net/http/httptest provides servers: a CA standing in for
// AgID CA1 (PEC.md §12.4), provider signing certificates with the profile
// of PEC.md §12.3 (RFC 6109 §5.5), and ready smime.Signers.
//
// Everything is generated in memory with fresh keys; nothing here is fit
// for production. RSA key generation takes tens of milliseconds: tests that
// issue many certificates can share one key through ProviderOptions.Key.
package pectest
