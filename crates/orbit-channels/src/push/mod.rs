//! App push: Firebase Cloud Messaging (HTTP v1) and JPush.
