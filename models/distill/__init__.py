"""AnimeGAN-Tiny distillation recipe (PyTorch): teacher port, student, training, export, evaluation."""
