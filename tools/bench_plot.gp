# The plot of `make bench` (results.png), from the data files
# tools/benchstat.c writes: gnuplot -e "dir='DIR'; title='TITLE'" bench_plot.gp
set terminal pngcairo size 1400,1100 font "sans,10" noenhanced
set output dir."/results.png"
set multiplot layout 2,2 title title
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set boxwidth 0.9
set grid ytics
set key top left
set xtics rotate by -30 left
set title "Per-path cost, repeat=1 loops (kernel ns/packet; log scale)"
set logscale y
set ylabel "ns per packet"
plot dir."/plot_r1.dat" using 2:xtic(1) title "S: 10 rules, 1k flows", '' using 3 title "R: 10k rules", '' using 4 title "F: 1M flows"
set title "Per-path cost, repeat=N (warm; fixture = DNAT/SNAT to itself)"
unset logscale y
plot dir."/plot_rN.dat" using 2:xtic(1) title "S: 10 rules, 1k flows", '' using 3 title "R: 10k rules", '' using 4 title "F: 1M flows"
set style data boxes
set boxwidth 0.6
set xrange [-0.6:*]
set yrange [0:*]
set key off
set title "End to end: UDP packets/s at the LAN host (median; points = runs)"
set ylabel "kpps"
plot dir."/plot_udp.dat" using 1:3:xtic(2) with boxes lc rgb "#4477aa", dir."/plot_udp_runs.dat" using 1:2 with points pt 7 ps 1 lc rgb "black"
set title "End to end: TCP throughput, iperf3 (median; points = runs)"
set ylabel "Mbit/s"
plot dir."/plot_tcp.dat" using 1:3:xtic(2) with boxes lc rgb "#44aa77", dir."/plot_tcp_runs.dat" using 1:2 with points pt 7 ps 1 lc rgb "black"
unset multiplot
