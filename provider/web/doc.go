// Package web serves a PEC provider's mailboxes as their holders know them:
// a small web view on loopback (or behind the provider's TLS front end),
// built on net/http and html/template, without JavaScript.
//
// A holder logs in with the mailbox password, checked by the provider's
// mailbox.Authenticator and slowed down after failures by the shared
// mailbox.Throttle. The session is a random token in an HttpOnly,
// SameSite=Strict cookie (Secure when the request came over TLS to this
// server), ended by an idle and an absolute limit; sessions are kept in
// memory and end when the server does. Every state change is a POST form carrying a
// per-session token (the login form a token bound to a pre-session cookie),
// checked before anything else: a forged form gets 403 Forbidden. Every
// response carries a Content-Security-Policy of default-src 'self' with no
// inline script, and is neither framed nor cached.
//
// Pages: the messages of INBOX and Sent, newest first, with their date,
// the kind of PEC message in words (PEC.md §5), subject, sender and
// recipients; for each sent message the timeline of each recipient
// (PEC.md §15.4): accepted, taken in charge, delivered, not delivered with
// the reason, timed out, sent to ordinary mail, each step linking the signed
// receipt, downloaded as the .eml it was delivered as; a recipient with no
// final state 25 hours after dispatch is said to be overdue
// (client.OverdueAfter). The list gives each sent message's count of
// recipients per state. The timeline is
// computed by the client's Tracker (package client), fed with the mailbox's
// own messages: each message of Sent registered from its header, each
// message of INBOX classified (client.Classify) and verified against the
// provider index given in Options.Verify. The result is cached per mailbox
// until a folder changes (UIDVALIDITY, UIDNEXT, message count) or it is a
// few minutes old. The page also shows the quota used, and its limit when
// one is configured.
//
// Labels are in Italian and English, chosen by ?lang=it or ?lang=en, else
// by the Accept-Language header; Italian is the default.
//
// Options.LoginTokens enables Server.LoginToken, which issues a one-time
// link that opens a session for a user without the password: for
// operators and for tests driving a browser. It is off by default.
//
// Normative sources: PEC.md §5 (the catalogue), §6 (receipts and notices),
// §15.4 (the per-recipient states); RFC 6265bis (SameSite cookies), CSP
// Level 3.
package web
