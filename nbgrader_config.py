"""nbgrader configuration for the course (used by the instructor commands and `make autograde-demo`)."""

from nbgrader.converters import GenerateAssignment, GenerateSolution

from lmminstructor.preprocessors import lesson_preprocessors

c = get_config()  # noqa: F821 (provided by nbgrader)

c.CourseDirectory.course_id = "lmm-continuous"
c.CourseDirectory.root = "."
c.CourseDirectory.solution_directory = "solutions"
c.CourseDirectory.source_directory = "source"
c.CourseDirectory.release_directory = "release"

# A cell that loops forever or hangs is stopped after 60 s and graded as failed; the batch goes on.
c.ExecutePreprocessor.timeout = 60
c.Execute.timeout = 60
c.Execute.interrupt_on_timeout = True

# A student who deleted an answer or test cell is graded on the instructor's copy of it.
c.OverwriteCells.add_missing_cells = True

# Widgets never run during grading: lmmcourse.widgets returns a static note when NBGRADER_EXECUTION is
# set (nbgrader sets it to "autograde" or "validate"), so a widget cell can never hang the grader.
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}

# nbgrader itself fills the points table and the estimated time into each notebook header (and normalises
# the notebook metadata), so `nbgrader generate_assignment <assignment>` writes exactly the committed
# release/ that `make build` writes (see lmminstructor/preprocessors.py).
c.GenerateAssignment.preprocessors = lesson_preprocessors(GenerateAssignment)
c.GenerateSolution.preprocessors = lesson_preprocessors(GenerateSolution)
