package server

import (
	"fmt"
	"html/template"
	"strconv"
	"text/template/parse"

	"github.com/berriz/berriz/internal/i18n"
)

// Templates written in each language at start. html/template calls every
// method and function by reflection, and {{.T "key"}} costs three such
// calls (the method looked up by name, the call, the escaper) each time a
// page is rendered; the device page makes some fifty of them with a
// constant key, a third of its rendering (docs/benchmarks.md). Their
// result depends only on the language, so each page's templates are
// copied once per language with every such call replaced by its result,
// as a string constant: html/template then escapes the constant exactly
// as it escaped the call's result, and the page is the same, byte for
// byte (TestTranslatedTemplatesRenderTheSame).
//
// A call is replaced only where its receiver is certainly the page: in
// the "layout" and "content" templates (executed with the *Page), on dot
// outside {{range}} and {{with}}, on $, and on a variable bound to dot at
// the top of the template ({{$p := .}}) and never bound again. Only the
// page's pure methods are replaced, with one constant argument:
// T (no placeholder values), URL and Asset.

// pageConstants are the *Page methods whose result, for a constant
// argument, depends only on the language.
var pageConstants = map[string]func(p *Page, arg string) string{
	"T":     func(p *Page, key string) string { return p.T(key) },
	"URL":   (*Page).URL,
	"Asset": (*Page).Asset,
}

// translateTemplates returns each page's template set written in each
// language. The originals stay as they are (Clone shares parse trees:
// the rewritten ones are copies).
func translateTemplates(pages map[string]*template.Template, cat *i18n.Catalogs, as *assets) (map[i18n.Lang]map[string]*template.Template, error) {
	out := map[i18n.Lang]map[string]*template.Template{}
	for _, lang := range i18n.Langs {
		page := &Page{Lang: lang, cat: cat, assets: as}
		out[lang] = map[string]*template.Template{}
		for name, t := range pages {
			clone, err := t.Clone()
			if err != nil {
				return nil, fmt.Errorf("translate %s: %w", name, err)
			}
			for _, part := range []string{"layout", "content"} {
				pt := clone.Lookup(part)
				if pt == nil || pt.Tree == nil {
					continue
				}
				tree := pt.Tree.Copy()
				r := constFolder{page: page, aliases: pageAliases(tree.Root)}
				r.list(tree.Root, true)
				if _, err := clone.AddParseTree(part, tree); err != nil {
					return nil, fmt.Errorf("translate %s/%s: %w", name, part, err)
				}
			}
			out[lang][name] = clone
		}
	}
	return out, nil
}

// constFolder replaces the constant page calls of one template's tree.
type constFolder struct {
	page    *Page
	aliases map[string]bool // variables that hold the page
}

// list walks a list of nodes; dotIsPage tells whether dot is the page
// there.
func (r constFolder) list(l *parse.ListNode, dotIsPage bool) {
	if l == nil {
		return
	}
	for _, n := range l.Nodes {
		switch n := n.(type) {
		case *parse.ActionNode:
			r.pipe(n.Pipe, dotIsPage)
		case *parse.IfNode:
			r.pipe(n.Pipe, dotIsPage)
			r.list(n.List, dotIsPage)
			r.list(n.ElseList, dotIsPage)
		case *parse.RangeNode: // dot is each element inside, unchanged in else
			r.pipe(n.Pipe, dotIsPage)
			r.list(n.List, false)
			r.list(n.ElseList, dotIsPage)
		case *parse.WithNode: // dot is the value inside, unchanged in else
			r.pipe(n.Pipe, dotIsPage)
			r.list(n.List, false)
			r.list(n.ElseList, dotIsPage)
		case *parse.TemplateNode:
			r.pipe(n.Pipe, dotIsPage)
		case *parse.ListNode:
			r.list(n, dotIsPage)
		}
	}
}

func (r constFolder) pipe(p *parse.PipeNode, dotIsPage bool) {
	if p == nil {
		return
	}
	for _, c := range p.Cmds {
		if v, ok := r.constant(c, dotIsPage); ok {
			c.Args = []parse.Node{&parse.StringNode{NodeType: parse.NodeString, Pos: c.Args[0].Position(),
				Quoted: strconv.Quote(v), Text: v}}
			continue
		}
		for _, a := range c.Args {
			if sub, ok := a.(*parse.PipeNode); ok {
				r.pipe(sub, dotIsPage)
			}
		}
	}
}

// constant returns the value of a command that calls a page constant
// with one string literal, and whether it is one.
func (r constFolder) constant(c *parse.CommandNode, dotIsPage bool) (string, bool) {
	if len(c.Args) != 2 {
		return "", false
	}
	arg, ok := c.Args[1].(*parse.StringNode)
	if !ok {
		return "", false
	}
	var method string
	switch f := c.Args[0].(type) {
	case *parse.FieldNode: // .T
		if !dotIsPage || len(f.Ident) != 1 {
			return "", false
		}
		method = f.Ident[0]
	case *parse.VariableNode: // $.T, $p.T
		if len(f.Ident) != 2 || !r.aliases[f.Ident[0]] {
			return "", false
		}
		method = f.Ident[1]
	default:
		return "", false
	}
	fn, ok := pageConstants[method]
	if !ok {
		return "", false
	}
	return fn(r.page, arg.Text), true
}

// pageAliases returns the variables that certainly hold the page: $, and
// those declared {{$x := .}} at the top level of the template and
// declared or assigned nowhere else.
func pageAliases(root *parse.ListNode) map[string]bool {
	aliases := map[string]bool{"$": true}
	for _, n := range root.Nodes {
		a, ok := n.(*parse.ActionNode)
		if !ok || a.Pipe == nil || a.Pipe.IsAssign || len(a.Pipe.Decl) != 1 || len(a.Pipe.Cmds) != 1 ||
			len(a.Pipe.Cmds[0].Args) != 1 {
			continue
		}
		if _, dot := a.Pipe.Cmds[0].Args[0].(*parse.DotNode); dot {
			aliases[a.Pipe.Decl[0].Ident[0]] = true
		}
	}
	// Any other binding of the same name disqualifies it.
	seen := map[string]int{}
	var walk func(parse.Node)
	walkPipe := func(p *parse.PipeNode) {
		if p == nil {
			return
		}
		for _, d := range p.Decl {
			seen[d.Ident[0]]++
		}
		for _, c := range p.Cmds {
			for _, a := range c.Args {
				if sub, ok := a.(*parse.PipeNode); ok {
					walk(sub)
				}
			}
		}
	}
	walk = func(n parse.Node) {
		switch n := n.(type) {
		case *parse.ListNode:
			if n != nil {
				for _, c := range n.Nodes {
					walk(c)
				}
			}
		case *parse.PipeNode:
			walkPipe(n)
		case *parse.ActionNode:
			walkPipe(n.Pipe)
		case *parse.IfNode:
			walkPipe(n.Pipe)
			walk(n.List)
			walk(n.ElseList)
		case *parse.RangeNode:
			walkPipe(n.Pipe)
			walk(n.List)
			walk(n.ElseList)
		case *parse.WithNode:
			walkPipe(n.Pipe)
			walk(n.List)
			walk(n.ElseList)
		case *parse.TemplateNode:
			walkPipe(n.Pipe)
		}
	}
	walk(root)
	for name := range aliases {
		if name != "$" && seen[name] != 1 {
			delete(aliases, name)
		}
	}
	return aliases
}
