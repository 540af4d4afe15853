// Package providertest runs a network of PEC providers in the test process,
// as net/http/httptest runs HTTP servers: NewNetwork starts two (or more)
// providers of package provider on 127.0.0.1, with a test certification
// authority (package pec/pectest), an index listing them, spools, mailboxes
// and trace stores, each with its submission, incoming and IMAP servers, and
// stops them at the end of the test.
//
// Nothing here is fit for production: keys are generated per network, the
// password hashing is cheap, and the servers trust only the test CA.
package providertest
