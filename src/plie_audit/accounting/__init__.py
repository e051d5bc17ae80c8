"""Convention accounting (seed, articles 4-5): budget and avenants, expense lines, payments,
indicators, états certifiés exacts, bilans, and the checks a control authority runs."""
