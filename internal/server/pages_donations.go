package server

// donationRoutes lists the routes of this area; routes() appends them to the table.
func (s *Server) donationRoutes() []Route { return nil }
