"""The pytest harness: real and fake servers as fixtures, client drivers, and the main job."""
