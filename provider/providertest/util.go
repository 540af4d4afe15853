package providertest

import (
	"io"
	"strings"
)

func copyAll(b *strings.Builder, r io.Reader) (int64, error) { return io.Copy(b, r) }
