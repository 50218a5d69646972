"""What a crawl tells: summaries, the by-page view, accepted links, the diff between two crawls."""
