// Package ghg is GreenLang's pure greenhouse-gas accounting library: units
// and dimensions, GWP sets, factors and calculation methods. It does no I/O.
package ghg
