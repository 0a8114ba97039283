package server

import (
	"context"
	"fmt"
	"time"

	"github.com/berriz/berriz/internal/co2"
	"github.com/berriz/berriz/internal/postgres"
	"github.com/berriz/berriz/internal/push"
)

func pushFigures(r postgres.TotalsRow) PushFigures {
	return PushFigures{Received: r.Received, Refurbished: r.Refurbished, Delivered: r.Delivered, Recycled: r.Recycled,
		Dismantled: r.Dismantled, DivertedKg: co2.Round1(r.DivertedKg), NetKg: co2.Round1(r.NetKg), LowKg: co2.Round1(r.LowKg),
		HighKg: co2.Round1(r.HighKg), GrossKg: co2.Round1(r.GrossKg)}
}

// pushTotals reads month's totals from the observatory aggregates.
func (s *Server) pushTotals(ctx context.Context, month time.Time) (PushTotals, error) {
	m := push.Month(month)
	all, err := s.store.ObservatoryTotals(ctx, postgres.TotalsQuery{From: m, To: m})
	if err != nil {
		return PushTotals{}, fmt.Errorf("totals of %s: %w", m, err)
	}
	byCat, err := s.store.ObservatoryTotals(ctx, postgres.TotalsQuery{From: m, To: m, GroupBy: []postgres.TotalsDim{postgres.DimCategory}})
	if err != nil {
		return PushTotals{}, fmt.Errorf("totals of %s by category: %w", m, err)
	}
	out := PushTotals{Month: m, FactorSet: all.FactorSet, FactorSetVersion: all.FactorSetVersion,
		MethodVersions: all.MethodVersions, ByCategory: []PushCategory{}}
	if out.MethodVersions == nil {
		out.MethodVersions = []string{}
	}
	if len(all.Rows) > 0 {
		out.Total = pushFigures(all.Rows[0])
	}
	for _, r := range byCat.Rows {
		out.ByCategory = append(out.ByCategory, PushCategory{Category: r.Category, PushFigures: pushFigures(r)})
	}
	return out, nil
}
