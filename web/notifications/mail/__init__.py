"""The report mail and the test mail: built by ``message`` from ``templates/mail``, sent by
``transport`` (SMTP or a folder), from the RQ job in ``jobs``."""
