module github.com/pecsdk/pec

go 1.24

require (
	github.com/emersion/go-message v0.18.2
	github.com/smallstep/pkcs7 v0.2.3
)

require golang.org/x/text v0.14.0 // indirect
