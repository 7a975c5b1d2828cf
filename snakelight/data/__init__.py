"""Dataset sources, their checks, condition selection and the process mask."""
