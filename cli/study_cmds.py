"""``lianxin study …``: lessons, hours and recommendations."""

from __future__ import annotations

import click

from core import study

from .shared import emit, pass_ctx


@click.group("study")
def study_group():
    """Lessons, study hours and explained recommendations."""


@study_group.command("recommend")
@click.argument("member_no")
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def study_recommend(ctx, member_no, as_json):
    """Lessons for MEMBER_NO, each with the reason it is suggested."""
    rows = [r.as_dict() for r in study.recommend(ctx.store(), member_no)]
    emit(rows, as_json, lambda rows: [click.echo(
        f"{r['title']}（{r['category']}，约{r['minutes']}分钟）— {r['reason_zh']}") for r in rows])


@study_group.command("lessons")
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def study_lessons(ctx, as_json):
    """All lessons on this terminal."""
    rows = study.lessons(ctx.store())
    emit(rows, as_json, lambda rows: [click.echo(
        f"{r['lesson_id']:<28} {r['title']}（{r['category']}）{'  支部布置' if r['assigned'] else ''}")
        for r in rows])


@study_group.command("hours")
@click.argument("member_no")
@click.option("--year", type=int, help="Default: this year.")
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def study_hours(ctx, member_no, year, as_json):
    """Study time of MEMBER_NO in a year."""
    store = ctx.store()
    h = study.hours(store, member_no, year or store.now().year)
    emit(h, as_json, lambda d: click.echo(
        f"{d['year']}年学习 {d['hours']} 小时，{d['sessions']} 次，学完 {d['lessons_completed']} 课"))
