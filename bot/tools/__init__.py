"""Maintainer tools: flowchart, review book, behaviour diff, statistics, export, evaluation."""
