# Writes the golden HTML for each Markdown file given, with the real kramdown and Jekyll 4's
# default kramdown options (syntax_highlighter nil: Jekyll's rouge would wrap fenced code in
# <div class="language-x highlighter-rouge"><div class="highlight"><pre class="highlight">).
# Usage: ruby tests/markup/kramdown_golden.rb tests/data/markdown/*.md
require "kramdown"
require "kramdown-parser-gfm"

OPTIONS = {
  input: "GFM", auto_ids: true, hard_wrap: false, toc_levels: (1..6).to_a,
  smart_quotes: "lsquo,rsquo,ldquo,rdquo", entity_output: "as_char", footnote_nr: 1,
  guess_lang: true, show_warnings: false, syntax_highlighter: nil,
}.freeze

ARGV.each do |path|
  html = Kramdown::Document.new(File.read(path, encoding: "UTF-8"), OPTIONS).to_html
  File.write(path.sub(/\.md\z/, ".kramdown.html"), html)
end
