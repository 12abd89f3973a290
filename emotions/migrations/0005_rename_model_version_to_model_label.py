from django.db import migrations


class Migration(migrations.Migration):
    """`model_version` held a label (a version's name or an artifact directory's), never a version: name it so."""

    dependencies = [
        ("emotions", "0004_capturesession_title_note"),
    ]

    operations = [
        migrations.RenameField(model_name="capturesession", old_name="model_version", new_name="model_label"),
    ]
