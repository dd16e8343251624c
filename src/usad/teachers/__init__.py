"""Frozen expert teachers behind one contract (see docs/teachers.md). Heavy libraries load only on use."""
from .align import align_frames
from .assets import TeacherUnavailable
from .base import Teacher, TeacherInfo, TeacherOutput
from .registry import available_teachers, load_teacher, register_teacher, teacher_info

__all__ = ["Teacher", "TeacherInfo", "TeacherOutput", "TeacherUnavailable", "align_frames", "available_teachers",
           "load_teacher", "register_teacher", "teacher_info"]
