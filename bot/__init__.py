"""crisisbot: a chatbot for crisis-response teams."""

__version__ = "0.1.0"
