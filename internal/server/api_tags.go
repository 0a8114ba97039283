package server

import (
	"crypto/rand"
	"net/http"
	"strconv"

	"github.com/berriz/berriz/internal/postgres"
	"github.com/berriz/berriz/internal/tag"
	"github.com/labstack/echo/v5"
)

// The tag batches of the JSON API: workshops see and print the batches
// they generated, operators every batch (scope), as on the tag pages.

// apiTagBatchCodes is a batch with its codes, in printing order, in their
// printed form (7KQ2-M9XD).
type apiTagBatchCodes struct {
	Batch postgres.TagBatch `json:"batch"`
	Codes []string          `json:"codes"`
}

func printedCodes(codes []tag.Code) []string {
	out := make([]string, len(codes))
	for i, c := range codes {
		out[i] = c.String()
	}
	return out
}

func (s *Server) apiTagBatches(c *echo.Context) error {
	batches, page, err := s.store.TagBatches(c.Request().Context(), scope(principalOf(c)), pageParam(c))
	if err != nil {
		return err
	}
	return apiJSON(c, http.StatusOK, pageOf(batches, page))
}

type apiTagBatchInput struct {
	Count int `json:"count"`
}

// apiCreateTagBatch generates a batch of blank tags for the caller's
// organisation.
func (s *Server) apiCreateTagBatch(c *echo.Context) error {
	var in apiTagBatchInput
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	p := principalOf(c)
	b, codes, err := s.store.CreateTagBatch(c.Request().Context(), p.OrgID, p.UserID, in.Count,
		func() (tag.Code, error) { return tag.Generate(rand.Reader) })
	if err != nil {
		return err
	}
	c.Response().Header().Set("Location", "/api/v1/tags/batches/"+strconv.FormatInt(b.ID, 10))
	return apiJSON(c, http.StatusCreated, apiTagBatchCodes{Batch: b, Codes: printedCodes(codes)})
}

// apiTagBatch answers one batch with all its codes (at most MaxTagBatch).
func (s *Server) apiTagBatch(c *echo.Context) error {
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	sc := scope(principalOf(c))
	b, err := s.store.TagBatch(ctx, id, sc)
	if err != nil {
		return err
	}
	codes, err := s.store.BatchCodes(ctx, id, sc)
	if err != nil {
		return err
	}
	return apiJSON(c, http.StatusOK, apiTagBatchCodes{Batch: b, Codes: printedCodes(codes)})
}
