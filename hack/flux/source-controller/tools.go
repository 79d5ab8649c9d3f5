//go:build tools

// Package tools pins the Flux source-controller command we build from the module cache.
package tools

import _ "github.com/fluxcd/source-controller"
