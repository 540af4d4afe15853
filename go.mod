module github.com/pecsdk/pec

go 1.24
