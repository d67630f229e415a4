"""python -m tests.update_golden: rewrite tests/golden/ from the current templates."""

from tests.golden_cases import GOLDEN, rendered

if __name__ == "__main__":
    GOLDEN.mkdir(exist_ok=True)
    for name, content in rendered().items():
        (GOLDEN / name).write_text(content, encoding="utf-8")
        print(GOLDEN / name)
