#!/usr/bin/env bash
# Checks every relative link in README.md and docs/*.md: the file it points
# to must exist and, when the link names an anchor (`file.md#anchor` or
# `#anchor`), a heading of that file must produce the anchor (GitHub's rule:
# lower case, punctuation dropped, spaces to hyphens, `-1`, `-2` for
# repeats) or the file must hold `<a id="anchor">` / `<a name="anchor">`.
# Links inside fenced code blocks and inline code are not links. Web links
# (http, https, mailto) are not fetched.
#
# Usage: bash scripts/check-doc-links.sh [FILE.md ...]   (exit 1 on any broken link)
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$#" -eq 0 ]; then
  set -- README.md docs/*.md
fi

exec perl -CSDA -Mutf8 -e '
use strict;
use warnings;
use File::Basename qw(dirname);
use File::Spec;

my %anchors;    # file -> { anchor => 1 }

sub strip_code {
    my ($line) = @_;
    $line =~ s/(`+)(.*?)\1//g;    # inline code spans are not links
    return $line;
}

sub slug {
    my ($text) = @_;
    $text =~ s/!?\[([^\]]*)\]\([^)]*\)/$1/g;    # a link in a heading keeps its text
    $text =~ s/<[^>]+>//g;                       # inline HTML
    $text = lc $text;
    $text =~ s/[^\w\- ]//g;                      # punctuation goes (letters, digits, _ and - stay)
    $text =~ s/ /-/g;
    return $text;
}

sub anchors_of {
    my ($file) = @_;
    return $anchors{$file} if $anchors{$file};
    my %seen;
    my %set;
    open my $fh, "<", $file or return $anchors{$file} = {};
    my $fence = "";
    while (my $line = <$fh>) {
        if ($line =~ /^\s*(```+|~~~+)/) {
            my $mark = substr($1, 0, 3);
            if ($fence eq "") { $fence = $mark } elsif ($mark eq $fence) { $fence = "" }
            next;
        }
        next if $fence ne "";
        while ($line =~ /<a\s+(?:id|name)="([^"]+)"/g) { $set{$1} = 1 }
        if ($line =~ /^#{1,6}\s+(.*?)\s*#*\s*$/) {
            my $base = slug($1);
            my $anchor = $base;
            if (exists $seen{$base}) { $seen{$base}++; $anchor = "$base-$seen{$base}" }
            else { $seen{$base} = 0 }
            $set{$anchor} = 1;
        }
    }
    close $fh;
    return $anchors{$file} = \%set;
}

my $broken = 0;
my $checked = 0;
for my $file (@ARGV) {
    open my $fh, "<", $file or do { print STDERR "$file: cannot read\n"; $broken++; next };
    my $fence = "";
    my $n = 0;
    my @links;
    while (my $line = <$fh>) {
        $n++;
        if ($line =~ /^\s*(```+|~~~+)/) {
            my $mark = substr($1, 0, 3);
            if ($fence eq "") { $fence = $mark } elsif ($mark eq $fence) { $fence = "" }
            next;
        }
        next if $fence ne "";
        my $text = strip_code($line);
        while ($text =~ /\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g) { push @links, [$n, $1] }
        if ($text =~ /^\s*\[[^\]]+\]:\s+(\S+)/) { push @links, [$n, $1] }
        while ($text =~ /<a\s+href="([^"]+)"/g) { push @links, [$n, $1] }
    }
    close $fh;
    for my $link (@links) {
        my ($line, $target) = @$link;
        next if $target =~ m{^[a-zA-Z][a-zA-Z0-9+.-]*:};    # http:, https:, mailto:
        $checked++;
        my ($path, $anchor) = split /#/, $target, 2;
        my $dest = $file;
        if ($path ne "") {
            $path =~ s/%20/ /g;
            $dest = File::Spec->catfile(dirname($file), $path);
            if (!-e $dest) {
                print "$file:$line: broken link $target (no file $dest)\n";
                $broken++;
                next;
            }
        }
        next if !defined $anchor || $anchor eq "";
        if ($dest !~ /\.md$/i || -d $dest) {
            print "$file:$line: anchor on a non-Markdown target $target\n";
            $broken++;
            next;
        }
        if (!anchors_of($dest)->{$anchor}) {
            print "$file:$line: broken anchor $target (no heading #$anchor in $dest)\n";
            $broken++;
        }
    }
}
print STDERR "check-doc-links: $checked relative links checked, $broken broken\n";
exit($broken ? 1 : 0);
' "$@"
