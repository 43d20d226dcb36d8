// Package langtest finds the messages a package writes, for tests that hold each to
// having a Japanese translation in the lang catalog.
package langtest

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/nurture-dev/nurture/engine/lang"
)

// Formats is every constant message in the Go files of dir, tests left out: the
// first text argument of each call to one of funcs (a method or function name such
// as "errorAt", or a qualified one such as "lang.New"), and the text given to a Msg
// field in a composite literal. Text joined with + counts as one constant.
func Formats(dir string, funcs ...string) ([]string, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		return nil, err
	}
	return FormatsIn(files, funcs...)
}

// FormatsIn is Formats for the Go files named, for a package of which only some
// files write what marketers read (a command's check and simulate, not its server).
func FormatsIn(files []string, funcs ...string) ([]string, error) {
	fset := token.NewFileSet()
	var out []string
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			return nil, err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			switch v := n.(type) {
			case *ast.CallExpr:
				if !slices.Contains(funcs, callName(v.Fun)) {
					return true
				}
				for _, a := range v.Args {
					if s, ok := constText(a); ok {
						out = append(out, s)
						break
					}
				}
			case *ast.KeyValueExpr:
				if k, ok := v.Key.(*ast.Ident); ok && k.Name == "Msg" {
					if s, ok := constText(v.Value); ok {
						out = append(out, s)
					}
				}
			}
			return true
		})
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// Phrases is every text of more than one word that the Go files of dir (tests left
// out) give as an argument to one of funcs, or that a function named in funcs
// returns: the phrases put into messages with %s, such as "in a step", which are
// translated when their text is a catalog entry.
func Phrases(dir string, funcs ...string) ([]string, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		return nil, err
	}
	fset := token.NewFileSet()
	var out []string
	add := func(e ast.Expr) {
		if s, ok := constText(e); ok && strings.Contains(strings.TrimSpace(s), " ") {
			out = append(out, s)
		}
	}
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			return nil, err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			switch v := n.(type) {
			case *ast.CallExpr:
				if slices.Contains(funcs, callName(v.Fun)) {
					for _, a := range v.Args {
						add(a)
					}
				}
			case *ast.FuncDecl:
				if v.Body != nil && slices.Contains(funcs, v.Name.Name) {
					ast.Inspect(v.Body, func(n ast.Node) bool {
						if r, ok := n.(*ast.ReturnStmt); ok {
							for _, e := range r.Results {
								add(e)
							}
						}
						return true
					})
				}
			}
			return true
		})
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// Missing is the formats with no Japanese translation.
func Missing(formats []string) []string {
	var out []string
	for _, f := range formats {
		if !lang.Has(f) {
			out = append(out, f)
		}
	}
	return out
}

func callName(fun ast.Expr) string {
	switch v := fun.(type) {
	case *ast.Ident:
		return v.Name
	case *ast.SelectorExpr:
		if x, ok := v.X.(*ast.Ident); ok && (x.Name == "lang" || x.Name == "errors" || x.Name == "fmt") {
			return x.Name + "." + v.Sel.Name
		}
		return v.Sel.Name
	}
	return ""
}

func constText(e ast.Expr) (string, bool) {
	switch v := e.(type) {
	case *ast.BasicLit:
		if v.Kind != token.STRING {
			return "", false
		}
		s, err := strconv.Unquote(v.Value)
		return s, err == nil
	case *ast.BinaryExpr:
		if v.Op != token.ADD {
			return "", false
		}
		a, ok1 := constText(v.X)
		b, ok2 := constText(v.Y)
		return a + b, ok1 && ok2
	case *ast.ParenExpr:
		return constText(v.X)
	}
	return "", false
}
