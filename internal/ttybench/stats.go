package ttybench

import (
	"cmp"
	"math"
	"slices"
)

// Percentile returns the p-th percentile (0 < p <= 100) of xs by the
// nearest-rank method: the smallest value with at least p % of the
// values at or below it. xs need not be sorted and is not changed.
func Percentile[T cmp.Ordered](xs []T, p float64) T {
	if len(xs) == 0 {
		var zero T
		return zero
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	rank := int(math.Ceil(p/100*float64(len(s)))) - 1
	return s[min(max(rank, 0), len(s)-1)]
}

// Median is the 50th percentile of xs: for an even count, the lower of
// the middle two.
func Median[T cmp.Ordered](xs []T) T { return Percentile(xs, 50) }
