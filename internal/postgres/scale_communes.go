package postgres

import "slices"

// scaleCommunes are the 150 INSEE codes the territory at scale spreads its
// organisations over, as the Pays basque has about 150 communes. The
// first ones are real communes of the Pays basque, the coast and Bayonne
// first (scalePlan gives those twelve most firms, schools and services);
// the others are stand-ins of the same department (64), enough for
// grouping by commune to have the territory's cardinality.
var scaleCommunes = func() []string {
	known := []string{
		"64102", "64024", "64122", "64260", "64483", "64189", "64545", "64140", "64125", "64547", "64256", "64160",
		"64371", "64485", "64493", "64495", "64504", "64213", "64038", "64100", "64558", "64407", "64147", "64249",
		"64016", "64279", "64318", "64282", "64255", "64130", "64304", "64123", "64094", "64250", "64161",
	}
	out := slices.Clone(known)
	for c := 64001; len(out) < 150; c += 3 {
		s := itoa(c)
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}()
