"""The entities: Base, Creator, Experiment, Run, Task, Study, Client, and building members."""
