// Command gwpgen derives ghg/data/gwp100.csv from the IPCC GWP compilation:
//
//	go run ./ghg/gwpimport/cmd/gwpgen ../shared/data/factors/ipcc-gwp.csv > ghg/data/gwp100.csv
//
// It reads the compilation at the path given and writes the derived table to
// standard output (see gwpimport.WriteGWP100 for what it holds).
package main

import (
	"bufio"
	"fmt"
	"os"

	"github.com/greenlang/greenlang/ghg/gwpimport"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "gwpgen:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) != 1 {
		return fmt.Errorf("usage: gwpgen PATH/ipcc-gwp.csv > ghg/data/gwp100.csv")
	}
	f, err := os.Open(args[0])
	if err != nil {
		return err
	}
	defer f.Close()
	rows, err := gwpimport.ReadIPCC(f)
	if err != nil {
		return fmt.Errorf("%s: %w", args[0], err)
	}
	w := bufio.NewWriter(os.Stdout)
	if err := gwpimport.WriteGWP100(w, rows); err != nil {
		return err
	}
	return w.Flush()
}
