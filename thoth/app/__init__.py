"""The application: `thoth run` (the hourly job), the steps it is made of, its alerts and
progress lines. It wires the layers below together; nothing below imports it."""
