"""The course: module notebooks' exercises and wording, templates, worksheets and the build."""
