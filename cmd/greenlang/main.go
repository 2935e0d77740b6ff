// Command greenlang is the GreenLang platform in one binary. All of it lives
// in internal/cli; see "greenlang --help".
package main

import (
	"context"
	"os"

	"github.com/greenlang/greenlang/internal/cli"
)

func main() {
	os.Exit(cli.Main(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}
