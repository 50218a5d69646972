# One image for the crawler, web and worker services of docker-compose.yml.
FROM python:3.11-slim
WORKDIR /app
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY scrapy.cfg ./
COPY linkpatrol ./linkpatrol
COPY crawler ./crawler
COPY web ./web
RUN useradd --create-home linkpatrol
USER linkpatrol
CMD ["scrapy", "crawl", "links"]
