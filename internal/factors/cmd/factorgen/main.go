// Command factorgen derives the built-in factor table from the official
// publications with the project's importers:
//
//	go run ./internal/factors/cmd/factorgen ../shared/data/factors > internal/factors/builtin/factors.csv
//
// A test in package builtin runs the same derivation and fails when the
// committed table differs from what the publications give.
package main

import (
	"fmt"
	"os"

	"github.com/greenlang/greenlang/ghg"
	"github.com/greenlang/greenlang/internal/factors/builtin/derive"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: factorgen DIR (the folder with the official publications)")
		os.Exit(2)
	}
	if err := derive.Write(os.Stdout, os.Args[1], ghg.NewUnits()); err != nil {
		fmt.Fprintln(os.Stderr, "factorgen:", err)
		os.Exit(1)
	}
}
